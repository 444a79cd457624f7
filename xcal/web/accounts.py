"""Accounts, for an admin: the list, a new account, another role, disable or enable, a new password. Each change
goes through `records.accounts` with the admin's username as who made it, so it is an entry in the chain. A
password an admin sets (a new account's, a reset) is temporary, and a reset asks the admin's own password."""

from __future__ import annotations

from starlette.responses import Response

from .app import Page, Refused, back, page, required

STEPS = ("role", "disable", "enable", "password")


@page("admin")
def accounts(p: Page) -> Response:
    """GET /accounts."""
    from ..records.accounts import ROLES, list_accounts

    return p.render("accounts.html", accounts=list_accounts(p.store), roles=ROLES, request=p.request)


@page("admin")
def add(p: Page) -> Response:
    """POST /accounts: `xcal users add` from the form."""
    from ..records.accounts import add_account

    made = add_account(p.store, required(p.form, "username", "Username"), required(p.form, "full_name", "Full name"),
                       required(p.form, "role", "Role"), p.form.get("password") or "", by=p.account.username,
                       temporary=True)
    return back("/accounts", f"account {made.username} ({made.full_name}, {made.role}) created")


@page("admin")
def change(p: Page) -> Response:
    """POST /accounts/{username}/role|disable|enable|password."""
    from ..errors import AuthError
    from ..records.accounts import authenticate, disable_account, enable_account, set_password, set_role

    step, username, who = p.request.path_params["step"], p.request.path_params["username"], p.account.username
    if step not in STEPS:
        raise Refused(f"'{step}' is not something one does to an account", status=404)
    if step == "role":
        done = set_role(p.store, username, required(p.form, "role", "Role"), by=who)
        note = f"{done.username} is now a {done.role}"
    elif step == "disable":
        note = f"{disable_account(p.store, username, by=who).username} is disabled"
    elif step == "enable":
        note = f"{enable_account(p.store, username, by=who).username} is enabled"
    else:
        try:
            authenticate(p.store, who, p.form.get("admin_password") or "")
        except AuthError as exc:
            raise Refused(f"a password reset needs your own password: {exc.message}; nothing was changed") from None
        set_password(p.store, username, p.form.get("password") or "", by=who, temporary=True)
        note = f"a temporary password is set for {username}: they must set their own at next sign-in"
    return back("/accounts", note)
