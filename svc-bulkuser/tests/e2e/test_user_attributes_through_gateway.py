"""The product's other user attributes through the gateway, on PostgreSQL."""


def test_user_attributes_through_the_gateway(api, admin_token, create):
    own = api("GET", "/v1/user", token=admin_token)
    assert own.status == 200, own.text
    admin = own.json()["payload"]
    assert (admin["role_name"], admin["landing_page"], admin["all_termination"]) == (
        "admin",
        "/dashboard",
        True,
    )

    # Other tests delete demo users (the admin alone is never deleted), so the
    # rest works on this test's own users.

    created = api("GET", f"/v1/user/{create(role_id=2)}", token=admin_token).json()["payload"]
    assert (created["role_name"], created["auth_ip"], created["report_group"]) == ("agent", [], False)
    assert not [key for key in created if "passw" in key or "hash" in key or "token" in key]

    new_id = create(role_id=4, client_id=5, auth_ip=["2001:db8::7", "198.51.100.9"], all_termination=True)
    carrier = api("GET", f"/v1/user/{new_id}", token=admin_token).json()["payload"]
    assert (carrier["role_name"], carrier["client_id"], carrier["all_termination"]) == ("client", 5, True)
    assert carrier["auth_ip"] == ["2001:db8::7", "198.51.100.9"]
