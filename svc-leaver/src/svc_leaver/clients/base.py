"""What the five vendor clients share: one HTTP exchange, its answer, and the outcome of a step.

A client speaks one vendor's public wire API exactly as a customer's script
would, logs in as the configured account and renews an expired session once.
It never sleeps or retries on its own: it reports whether a failure is worth
repeating (``Outcome.kind == "retry"``), and the caller decides when.
Observers see every request (``kind``, method, path without query) and every
answer, never a body, token or password.

A vendor's module holds only that vendor's rules: its paths and bodies, where
its answers put the code, message and token, and which answers mean found,
removed or no such user. ``VendorClient`` does the rest once.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import httpx

from svc_leaver.clients._jwt import expiry_of

# Statuses every vendor uses for "try again later".
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})
# How long a session lasts when the login answer does not say.
DEFAULT_LIFETIME = 3600.0

RequestKind = Literal["login", "lookup", "remove"]
OutcomeKind = Literal["done", "not_found", "would_remove", "retry", "failed"]


@dataclass
class Answer:
    """One vendor answer, or the failure to get one (``status`` None, ``error`` set)."""

    status: int | None
    code: int | None = None
    message: str | None = None
    error: str | None = None
    retry_after: float | None = None
    body: Any = None

    def vendor_view(self) -> dict[str, Any] | None:
        """The API's ``vendor`` member: null when no answer came."""
        if self.status is None:
            return None
        return {"status": self.status, "code": self.code, "message": self.message}

    def member(self, key: str) -> Any:
        """``body[key]`` when the body is a JSON object, else None."""
        return self.body.get(key) if isinstance(self.body, dict) else None


@dataclass(frozen=True)
class Request:
    """One request as a vendor's rules describe it; the client adds the session's credentials."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    json: Any = None
    data: dict[str, str] | None = None

    def adding(
        self, *, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Request:
        """This request with more query parameters or headers."""
        return replace(
            self,
            params={**(self.params or {}), **params} if params else self.params,
            headers={**(self.headers or {}), **headers} if headers else self.headers,
        )


@dataclass(frozen=True)
class Verdict:
    """What a vendor's answer to a lookup or removal says; a ``detail`` of None reports the vendor's message."""

    kind: Literal["done", "would_remove", "not_found"]
    detail: str | None = None


@dataclass
class Outcome:
    """What one step came to: final (done, not_found, would_remove, failed) or worth repeating (retry)."""

    kind: OutcomeKind
    answer: Answer | None = None
    detail: str | None = None
    reason: str | None = None
    # Whether the answer was the vendor's rate-limit refusal (429 or its own code).
    rate_limited: bool = False


class Observer(Protocol):
    """Sees each request before it is sent and each answer (or failure) after."""

    def request_sent(self, kind: RequestKind, method: str, path: str, *, repeat: bool) -> None: ...

    def response(self, kind: RequestKind, answer: Answer) -> None: ...


class SilentObserver:
    """An observer that records nothing (a client used on its own)."""

    def request_sent(self, kind, method, path, *, repeat):
        pass

    def response(self, kind, answer):
        pass


class LoginFailed(Exception):
    """The vendor refused the configured account's login for good (wrong secret, account locked)."""

    def __init__(self, answer: Answer):
        super().__init__(answer.message or f"login refused with HTTP {answer.status}")
        self.answer = answer


class Unavailable(Exception):
    """No usable answer came for a login (connection failure, timeout, 5xx, rate limit): worth repeating."""

    def __init__(self, answer: Answer):
        super().__init__(answer.error or f"HTTP {answer.status}")
        self.answer = answer


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date); None when absent or malformed."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


@dataclass
class VendorClient:
    """The common machinery; each vendor subclass adds its requests and how to read their answers."""

    base_url: str
    username: str
    secret: str
    connect_timeout: float = 2.0
    read_timeout: float = 30.0
    observer: Observer = field(default_factory=SilentObserver)
    transport: httpx.BaseTransport | None = None
    http: httpx.Client = field(init=False, repr=False)
    token: str | None = field(default=None, init=False, repr=False)
    # When the session lapses (UNIX seconds).
    expires: float = field(default=0.0, init=False)

    name = "vendor"
    # Log in again this long before the session lapses, so that no request is sent with a dying token.
    expiry_margin = 5.0

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
        self.http = httpx.Client(timeout=timeout, transport=self.transport, follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # -- what each vendor defines ------------------------------------------------

    def code_and_message(self, body: dict[str, Any]) -> tuple[Any, str | None]:
        """Where the vendor's JSON object answers put its own code and message."""
        raise NotImplementedError

    def login_request(self) -> Request:
        """The configured account's login."""
        raise NotImplementedError

    def issued_token(self, answer: Answer) -> Any:
        """The member of a successful login answer that holds the session's token."""
        raise NotImplementedError

    def authorize(self, kind: RequestKind, request: Request) -> Request:
        """``request`` carrying the session's token, as the vendor expects it."""
        raise NotImplementedError

    def session_expired(self, answer: Answer) -> bool:
        """Whether ``answer`` refuses the request because the session expired or was revoked."""
        raise NotImplementedError

    def lookup_request(self, account: str) -> Request:
        """The read-only request that finds ``account``."""
        raise NotImplementedError

    def lookup_verdict(self, account: str, answer: Answer) -> Verdict | None:
        """would_remove or not_found from the answer to the lookup; None when it is a failure."""
        raise NotImplementedError

    def remove_request(self, account: str) -> Request:
        """The request that offboards ``account``."""
        raise NotImplementedError

    def removal_verdict(self, account: str, answer: Answer) -> Verdict | None:
        """done or not_found from the answer to the removal; None when it is a failure."""
        raise NotImplementedError

    # -- what a vendor may change -------------------------------------------------

    def vendor_rate_limited(self, answer: Answer) -> bool:
        """The vendor's own rate-limit refusal, beyond HTTP 429."""
        return False

    def session_expiry(self, token: str, answer: Answer) -> float:
        """When a new session lapses: the token's own expiry when it is a JWT, else in an hour."""
        return expiry_of(token) or time.time() + DEFAULT_LIFETIME

    def start_session(self, answer: Answer) -> bool:
        """Keep the session a login answer grants; False when it grants none."""
        token = self.issued_token(answer) if answer.status == 200 else None
        if not isinstance(token, str):
            return False
        self.token, self.expires = token, self.session_expiry(token, answer)
        return True

    def drop_session(self) -> None:
        """Forget the session, so that the next request logs in again."""
        self.token = None

    # -- shared ---------------------------------------------------------------

    def lookup(self, account: str) -> Outcome:
        """Read-only: would_remove (with what was found in ``detail``) or not_found."""
        return self.step(
            "lookup", self.lookup_request(account), lambda answer: self.lookup_verdict(account, answer)
        )

    def remove(self, account: str, *, removal_sent_before: bool = False) -> Outcome:
        """Offboard ``account``: done or not_found (done when this run sent the removal before)."""
        outcome = self.step(
            "remove", self.remove_request(account), lambda answer: self.removal_verdict(account, answer)
        )
        if outcome.kind == "not_found" and removal_sent_before:
            # The earlier removal went through although its answer never arrived.
            return Outcome("done", outcome.answer, detail="already removed by this run")
        return outcome

    def step(
        self, kind: RequestKind, request: Request, verdict_of: Callable[[Answer], Verdict | None]
    ) -> Outcome:
        """Send ``request`` in a live session and turn the answer into an Outcome."""
        result = self.call(kind, request)
        if isinstance(result, Outcome):
            return result
        verdict = verdict_of(result)
        if verdict is None:
            return Outcome("failed", result, detail=result.message)
        return Outcome(
            verdict.kind, result, detail=result.message if verdict.detail is None else verdict.detail
        )

    def login(self) -> None:
        """Log in as the configured account (LoginFailed / Unavailable on failure)."""
        answer = self.send("login", self.login_request())
        if self.start_session(answer):
            return
        if self.transient(answer):
            raise Unavailable(answer)
        raise LoginFailed(answer)

    def has_session(self) -> bool:
        """Whether a session is held that has not expired yet, as far as the client can tell."""
        return self.token is not None and time.time() < self.expires - self.expiry_margin

    def url(self, path: str) -> str:
        return self.base_url + path

    def path_of(self, path: str) -> str:
        """The request path as audited: the base URL's path plus ``path``, no query string."""
        return httpx.URL(self.url(path)).path

    def send(self, kind: RequestKind, request: Request, *, repeat: bool = False) -> Answer:
        """One request; connection failures and timeouts become an Answer without status."""
        self.observer.request_sent(kind, request.method, self.path_of(request.path), repeat=repeat)
        try:
            response = self.http.request(
                request.method,
                self.url(request.path),
                params=request.params,
                headers=request.headers,
                json=request.json,
                data=request.data,
            )
        except httpx.TimeoutException as exc:
            answer = Answer(status=None, error=f"timeout: {type(exc).__name__}")
        except httpx.TransportError as exc:
            answer = Answer(status=None, error=f"connection failed: {type(exc).__name__}")
        else:
            answer = self.parse(response)
            answer.retry_after = parse_retry_after(response.headers.get("Retry-After"))
        self.observer.response(kind, answer)
        return answer

    def parse(self, response: httpx.Response) -> Answer:
        """The vendor's status, code and message from an answer."""
        body = json_or_none(response)
        if isinstance(body, dict):
            code, message = self.code_and_message(body)
        elif body is None:
            # Not JSON (a proxy's HTML error page, say): keep the start of the text.
            code, message = None, _short_text(response)
        else:
            code, message = None, None
        return Answer(status=response.status_code, code=code, message=message, body=body)

    def transient(self, answer: Answer) -> bool:
        """Whether repeating the same request later may succeed."""
        return (
            answer.status is None or answer.status in TRANSIENT_STATUSES or self.vendor_rate_limited(answer)
        )

    def retry_outcome(self, answer: Answer) -> Outcome:
        rate_limited = answer.status == 429 or self.vendor_rate_limited(answer)
        if answer.status is None:
            reason = answer.error or "no answer"
        elif rate_limited:
            reason = f"rate limited (HTTP {answer.status})"
        else:
            reason = f"HTTP {answer.status}"
        return Outcome("retry", answer, reason=reason, rate_limited=rate_limited)

    def ensure_session(self) -> Outcome | None:
        """Log in when no live session is held; an Outcome when that failed, None when ready."""
        if self.has_session():
            return None
        try:
            self.login()
        except Unavailable as exc:
            outcome = self.retry_outcome(exc.answer)
            outcome.reason = f"login: {outcome.reason}"
            return outcome
        except LoginFailed as exc:
            return Outcome("failed", exc.answer, detail=f"login refused: {exc}")
        return None

    def call(self, kind: RequestKind, request: Request) -> Answer | Outcome:
        """Send ``request`` in a live session; renew an expired one once and send again.

        Returns the answer to interpret, or an Outcome when the exchange failed
        in a way every vendor treats alike (login trouble, transient failure).
        """
        failure = self.ensure_session()
        if failure is not None:
            return failure
        answer = self.send(kind, self.authorize(kind, request))
        if answer.status is not None and self.session_expired(answer):
            self.drop_session()
            failure = self.ensure_session()
            if failure is not None:
                return failure
            answer = self.send(kind, self.authorize(kind, request), repeat=True)
            if answer.status is not None and self.session_expired(answer):
                return Outcome("failed", answer, detail="session refused again after logging in")
        if self.transient(answer):
            return self.retry_outcome(answer)
        return answer


def _short_text(response: httpx.Response) -> str | None:
    text = response.text.strip()
    return text[:200] if text else None


def expiry_after(lifetime: Any, default: float) -> float:
    """Now plus ``lifetime`` seconds, or plus ``default`` when the login answer gave no number."""
    return time.time() + (lifetime if isinstance(lifetime, int | float) else default)


def json_or_none(response: httpx.Response) -> Any:
    """The JSON body, or None when the body is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def count_of(number: int, noun: str) -> str:
    """``1 device``, ``0 devices``, ``2 devices``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
