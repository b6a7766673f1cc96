"""Sign-in, and on the very first start the creation of the first administrator.

The app shows only this page until someone is signed in. There is no default account:
while the database has no administrator the page asks for one (the person installing the
app chooses the name and password).
"""
from __future__ import annotations

import streamlit as st

from survey_app.auth import (
    AccountLockedError,
    AuthenticationError,
    AuthError,
    InvalidAccountError,
    SetupError,
    device_token,
    error_text,
    get_accounts,
    oidc_config,
    password_rule,
    pop_notice,
    start_session,
)
from survey_app.i18n import current_language, register, t
from survey_app.ui import error_boundary

register(
    "signin",
    {
        "title": {"zh": "登录", "en": "Sign in"},
        "username": {"zh": "用户名", "en": "User name"},
        "password": {"zh": "密码", "en": "Password"},
        "submit": {"zh": "登录", "en": "Sign in"},
        "wrong": {
            "zh": "用户名或密码错误，或账户已停用。",
            "en": "Wrong user name or password, or the account is disabled.",
        },
        "oidc": {"zh": "使用单位统一身份登录", "en": "Sign in with your organisation account"},
        "setup_title": {"zh": "首次启动：创建管理员账户", "en": "First start: create the administrator account"},
        "setup_help": {
            "zh": "系统还没有任何账户。请为负责本系统的管理员设置用户名和密码。",
            "en": "There are no accounts yet. Choose the user name and password of the administrator "
            "responsible for this system.",
        },
        "display_name": {"zh": "姓名", "en": "Full name"},
        "password_again": {"zh": "再次输入密码", "en": "Password again"},
        "create": {"zh": "创建管理员并登录", "en": "Create administrator and sign in"},
        "mismatch": {"zh": "两次输入的密码不一致。", "en": "The two passwords differ."},
        "invalid": {"zh": "无法创建账户：{detail}", "en": "The account cannot be created: {detail}"},
        "already": {
            "zh": "管理员账户已由他人创建，请登录。",
            "en": "The administrator account was just created by someone else; please sign in.",
        },
    },
)


def render() -> None:
    """Draw the sign-in (or first-administrator) form."""
    lang = current_language()
    with error_boundary():
        notice = pop_notice()
        if notice is not None:
            key, values = notice
            st.info(t(key, lang, **values))
        accounts = get_accounts()
        if accounts.needs_setup():
            _first_administrator(lang)
        else:
            _sign_in(lang)


def _sign_in(lang: str) -> None:
    st.header(t("signin.title", lang))
    with st.form("signin", enter_to_submit=True):
        username = st.text_input(t("signin.username", lang), key="signin_username")
        password = st.text_input(t("signin.password", lang), type="password", key="signin_password")
        submitted = st.form_submit_button(t("signin.submit", lang), type="primary", width="stretch")
    if submitted:
        try:
            session = get_accounts().sign_in(username, password, device=device_token())
        except AccountLockedError as exc:  # the same for unknown user names
            st.error(error_text(exc, lang))
        except AuthenticationError:
            st.error(t("signin.wrong", lang))
        except AuthError as exc:  # e.g. too many simultaneous sign-ins
            st.error(error_text(exc, lang))
        else:
            start_session(session)
            st.rerun()
    config = oidc_config()
    if config is not None:
        st.divider()
        if st.button(t("signin.oidc", lang), width="stretch", key="signin_oidc"):
            if config.provider:
                st.login(config.provider)
            else:
                st.login()


def _first_administrator(lang: str) -> None:
    st.header(t("signin.setup_title", lang))
    st.caption(t("signin.setup_help", lang))
    st.caption(password_rule(lang))
    with st.form("setup"):
        username = st.text_input(t("signin.username", lang), key="setup_username")
        display_name = st.text_input(t("signin.display_name", lang), key="setup_display_name")
        rule = password_rule(lang)
        password = st.text_input(t("signin.password", lang), type="password", key="setup_password", help=rule)
        again = st.text_input(t("signin.password_again", lang), type="password", key="setup_again", help=rule)
        submitted = st.form_submit_button(t("signin.create", lang), type="primary", width="stretch")
    if not submitted:
        return
    if password != again:
        st.error(t("signin.mismatch", lang))
        return
    accounts = get_accounts()
    try:
        accounts.create_first_administrator(username, password, display_name=display_name)
    except SetupError:
        st.warning(t("signin.already", lang))
        return
    except InvalidAccountError as exc:
        st.error(t("signin.invalid", lang, detail=error_text(exc, lang)))
        return
    start_session(accounts.sign_in(username, password))
    st.rerun()


if __name__ == "__main__":
    render()
