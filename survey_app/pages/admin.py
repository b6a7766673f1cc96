"""Administration: user accounts, backups and restores, and the audit log (administrators only)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from survey_app.auth import ROLES, InvalidAccountError, User, get_accounts, require_role, role_names
from survey_app.backup import BackupError, backup_bytes, plan_restore, restore_database, sqlite_path
from survey_app.i18n import current_language, register, t
from survey_app.store import default_url
from survey_app.ui import error_boundary
from survey_app.uploads import UploadTooLargeError, read_upload

_BACKUP = "_admin_backup"  # (bytes, file name, interviews, submitted) of the prepared backup
# Times are stored in UTC and shown in Nantong's time.
LOCAL_TIME = ZoneInfo("Asia/Shanghai")

register(
    "admin",
    {
        "title": {"zh": "系统管理", "en": "Administration"},
        "tab_users": {"zh": "用户", "en": "Users"},
        "tab_backups": {"zh": "备份与恢复", "en": "Backups"},
        "tab_audit": {"zh": "审计日志", "en": "Audit log"},
        "new_user": {"zh": "新建用户", "en": "New user"},
        "username": {"zh": "用户名（访问员填访问员编号）", "en": "User name (interviewers: their interviewer code)"},
        "display_name": {"zh": "姓名", "en": "Full name"},
        "roles": {"zh": "角色", "en": "Roles"},
        "password": {"zh": "初始密码（至少 10 个字符）", "en": "Initial password (at least 10 characters)"},
        "create": {"zh": "创建用户", "en": "Create user"},
        "created": {"zh": "已创建用户 {name}。", "en": "User {name} created."},
        "edit_user": {"zh": "修改用户", "en": "Change a user"},
        "which_user": {"zh": "用户", "en": "User"},
        "active": {"zh": "启用", "en": "Enabled"},
        "new_password": {"zh": "新密码（不改则留空）", "en": "New password (leave empty to keep)"},
        "save": {"zh": "保存修改", "en": "Save changes"},
        "saved": {"zh": "已保存 {name} 的修改。", "en": "Changes to {name} saved."},
        "invalid": {"zh": "无法保存：{detail}", "en": "Not saved: {detail}"},
        "backup_help": {
            "zh": "备份是数据库某一时刻的完整副本，录入访问时也可以备份。",
            "en": "A backup is a complete copy of the database at one moment; it can be taken while "
            "interviews are being entered.",
        },
        "prepare": {"zh": "生成备份", "en": "Prepare a backup"},
        "prepared": {"zh": "备份已生成：{n} 个访问（其中已提交 {submitted} 个）。", "en": "Backup ready: {n} interviews ({submitted} submitted)."},
        "download": {"zh": "下载备份文件", "en": "Download the backup file"},
        "restore_title": {"zh": "从备份恢复", "en": "Restore from a backup"},
        "restore_file": {"zh": "备份文件（.db）", "en": "Backup file (.db)"},
        "restore_plan": {
            "zh": "备份中有 {backup} 个访问，当前数据库有 {current} 个。",
            "en": "The backup holds {backup} interviews; the database now holds {current}.",
        },
        "restore_loss": {
            "zh": "恢复将删除备份之后录入的 {lost} 个访问（其中已提交 {submitted} 个）；恢复前会自动保存当前数据库的安全备份。",
            "en": "Restoring removes {lost} interviews entered after the backup ({submitted} submitted); "
            "a safety backup of the current database is saved first.",
        },
        "restore_confirm": {"zh": "我确认用此备份替换当前数据", "en": "I confirm: replace the current data with this backup"},
        "restore": {"zh": "恢复", "en": "Restore"},
        "restored": {
            "zh": "恢复完成。恢复前的安全备份：{path}。如已退出登录，请重新登录。",
            "en": "Restored. Safety backup of the previous state: {path}. Sign in again if you were signed out.",
        },
        "backup_error": {"zh": "备份/恢复失败：{detail}", "en": "Backup/restore failed: {detail}"},
        "col_username": {"zh": "用户名", "en": "User name"},
        "col_display_name": {"zh": "姓名", "en": "Full name"},
        "col_roles": {"zh": "角色", "en": "Roles"},
        "col_active": {"zh": "启用", "en": "Enabled"},
        "col_source": {"zh": "登录方式", "en": "Signs in with"},
        "col_created_at": {"zh": "创建时间", "en": "Created"},
        "col_at": {"zh": "时间", "en": "Time"},
        "col_actor": {"zh": "操作人", "en": "By"},
        "col_action": {"zh": "操作", "en": "Action"},
        "col_target": {"zh": "对象", "en": "Target"},
        "col_detail": {"zh": "详情", "en": "Details"},
        "source_password": {"zh": "密码", "en": "password"},
        "source_oidc": {"zh": "单位统一身份", "en": "organisation account"},
        "not_sqlite": {
            "zh": "数据库不是内置的 SQLite 文件（{detail}）。请使用数据库服务器自带的工具备份，例如 PostgreSQL 的 pg_dump。",
            "en": "The database is not the embedded SQLite file ({detail}). Back it up with the server's own "
            "tools, e.g. pg_dump for PostgreSQL.",
        },
    },
)


def render() -> None:
    """Draw the administration page for a signed-in administrator."""
    user = require_role("administrator")
    lang = current_language()
    with error_boundary():
        st.header(t("admin.title", lang))
        users_tab, backups_tab, audit_tab = st.tabs(
            [t("admin.tab_users", lang), t("admin.tab_backups", lang), t("admin.tab_audit", lang)]
        )
        with users_tab:
            _users(user, lang)
        with backups_tab:
            _backups(user, lang)
        with audit_tab:
            _table(get_accounts().audit_log(user, limit=500), lang)


def _users(user: User, lang: str) -> None:
    accounts = get_accounts()
    users = accounts.users_frame(user)
    users["roles"] = users["roles"].map(lambda roles: role_names(roles.split(","), lang))
    users["source"] = users["source"].map(lambda source: t(f"admin.source_{source}", lang))
    _table(users, lang)

    st.subheader(t("admin.new_user", lang))
    with st.form("admin_new_user", clear_on_submit=True):
        username = st.text_input(t("admin.username", lang), key="admin_new_username")
        display_name = st.text_input(t("admin.display_name", lang), key="admin_new_display")
        roles = st.multiselect(
            t("admin.roles", lang), ROLES, default=["interviewer"],
            format_func=lambda role: role_names([role], lang), key="admin_new_roles",
        )
        password = st.text_input(t("admin.password", lang), type="password", key="admin_new_password")
        create = st.form_submit_button(t("admin.create", lang), type="primary")
    if create:
        try:
            created = accounts.create_user(user, username, password, roles, display_name=display_name)
        except InvalidAccountError as exc:
            st.error(t("admin.invalid", lang, detail=exc))
        else:
            st.success(t("admin.created", lang, name=created.username))

    st.subheader(t("admin.edit_user", lang))
    names = [account.username for account in accounts.users(user)]
    name = st.selectbox(t("admin.which_user", lang), names, key="admin_edit_user")
    if name is None:
        return
    account = accounts.get_user(name)
    with st.form("admin_edit"):
        roles = st.multiselect(
            t("admin.roles", lang), ROLES, default=sorted(account.roles),
            format_func=lambda role: role_names([role], lang), key=f"admin_edit_roles_{name}",
        )
        active = st.checkbox(t("admin.active", lang), value=account.active, key=f"admin_edit_active_{name}")
        new_password = ""
        if account.source == "password":
            new_password = st.text_input(
                t("admin.new_password", lang), type="password", key=f"admin_edit_password_{name}"
            )
        save = st.form_submit_button(t("admin.save", lang))
    if save:
        try:
            if set(roles) != set(account.roles):
                accounts.set_roles(user, name, roles)
            if active != account.active:
                accounts.set_active(user, name, active)
            if new_password:
                accounts.reset_password(user, name, new_password)
        except InvalidAccountError as exc:
            st.error(t("admin.invalid", lang, detail=exc))
        else:
            st.success(t("admin.saved", lang, name=name))


def _table(frame: pd.DataFrame, lang: str) -> None:
    """A table with headings in the interface language and times in Nantong's time."""
    shown = frame.copy()
    for column in shown.columns:
        if isinstance(shown[column].dtype, pd.DatetimeTZDtype):
            shown[column] = shown[column].dt.tz_convert(LOCAL_TIME).dt.strftime("%Y-%m-%d %H:%M:%S")
    shown.columns = [t(f"admin.col_{column}", lang) for column in shown.columns]
    st.dataframe(shown, hide_index=True, width="stretch")


def _backups(user: User, lang: str) -> None:
    url = default_url()
    try:
        database = sqlite_path(url)
    except BackupError as exc:
        st.info(t("admin.not_sqlite", lang, detail=exc))
        return
    accounts = get_accounts()
    st.caption(t("admin.backup_help", lang))
    if st.button(t("admin.prepare", lang), key="admin_prepare_backup"):
        try:
            data, result = backup_bytes(url=url)
        except BackupError as exc:
            st.error(t("admin.backup_error", lang, detail=exc))
        else:
            stamp = result.created_at.strftime("%Y%m%d-%H%M%S")
            st.session_state[_BACKUP] = (data, f"survey-backup-{stamp}.db", result.interviews, result.submitted)
            accounts.record(
                user.username, "backup", database.name,
                {"interviews": result.interviews, "submitted": result.submitted, "sha256": result.sha256},
            )
    prepared = st.session_state.get(_BACKUP)
    if prepared is not None:
        data, file_name, interviews, submitted = prepared
        st.success(t("admin.prepared", lang, n=interviews, submitted=submitted))
        st.download_button(
            t("admin.download", lang), data, file_name=file_name, mime="application/vnd.sqlite3",
            key="admin_download_backup",
        )

    st.subheader(t("admin.restore_title", lang))
    upload = st.file_uploader(t("admin.restore_file", lang), type=["db", "sqlite", "sqlite3"], key="admin_restore")
    if upload is None:
        return
    try:
        data = read_upload(upload, what="backup")
        plan = plan_restore(data, url=url)
    except (BackupError, UploadTooLargeError) as exc:
        st.error(t("admin.backup_error", lang, detail=exc))
        return
    st.write(t("admin.restore_plan", lang, backup=plan.backup_interviews, current=plan.current_interviews))
    if plan.lost_interviews:
        st.warning(t("admin.restore_loss", lang, lost=plan.lost_interviews, submitted=plan.lost_submitted))
    confirmed = st.checkbox(t("admin.restore_confirm", lang), key="admin_restore_confirm")
    if st.button(t("admin.restore", lang), disabled=not confirmed, type="primary", key="admin_restore_button"):
        try:
            result = restore_database(data, safety_directory=database.parent / "backups", url=url)
        except BackupError as exc:
            st.error(t("admin.backup_error", lang, detail=exc))
            return
        # Written after the restore, so the restored database keeps the record.
        accounts.record(
            user.username, "restore", upload.name,
            {
                "backup_interviews": plan.backup_interviews, "removed_interviews": plan.lost_interviews,
                "safety_backup": str(result.safety_backup.path),
            },
        )
        st.success(t("admin.restored", lang, path=result.safety_backup.path))


if __name__ == "__main__":
    render()
