"""``/_gateway/docs``: Swagger UI over the five services' OpenAPI documents, served without a CDN."""

from __future__ import annotations

import functools
import html
import json
import mimetypes
from pathlib import Path

from swagger_ui_bundle import swagger_ui_path

ASSETS = Path(str(swagger_ui_path))
ASSET_NAMES = {
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "favicon-32x32.png",
    "favicon-16x16.png",
}

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>API gateway: service documentation</title>
  <link rel="stylesheet" href="/_gateway/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/_gateway/docs/assets/favicon-32x32.png">
  <style>body {{ margin: 0; }} .topbar {{ display: none; }}
  nav {{ font-family: sans-serif; padding: 12px 20px; background: #1b1b1b; color: #fff; }}
  nav a {{ color: #89bf04; margin-right: 16px; text-decoration: none; }}</style>
</head>
<body>
  <nav><strong>Services:</strong> {links}</nav>
  <div id="swagger-ui"></div>
  <script src="/_gateway/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/_gateway/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script>
    const specs = {specs};
    const wanted = new URLSearchParams(window.location.search).get("service");
    window.ui = SwaggerUIBundle({{
      urls: specs,
      "urls.primaryName": wanted || specs[0].name,
      dom_id: "#swagger-ui",
      deepLinking: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout",
    }});
  </script>
</body>
</html>
"""


def render_page(route_names: list[str]) -> bytes:
    """The docs page listing one OpenAPI document per route."""
    specs = [{"url": f"/_gateway/docs/specs/{name}.json", "name": name} for name in route_names]
    links = " ".join(f'<a href="?service={html.escape(n)}">{html.escape(n)}</a>' for n in route_names)
    return PAGE.format(links=links, specs=json.dumps(specs)).encode("utf-8")


@functools.cache
def asset(name: str) -> tuple[bytes, str] | None:
    """A Swagger UI file shipped by the swagger-ui-bundle package, with its content type."""
    if name not in ASSET_NAMES:
        return None
    path = ASSETS / name
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if content_type.startswith(("text/", "application/javascript")):
        content_type += "; charset=utf-8"
    return path.read_bytes(), content_type
