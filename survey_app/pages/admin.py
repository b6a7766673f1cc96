"""Administration: user accounts, backups and restores, and the audit log (administrators only)."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from survey_app.auth import (
    ROLES,
    Accounts,
    InvalidAccountError,
    PermissionDeniedError,
    User,
    error_text,
    get_accounts,
    password_rule,
    require_role,
    role_names,
)
from survey_app.backup import (
    BackupError, BackupRefusedError, backup_bytes, plan_restore, restore_database, sqlite_path,
)
from survey_app.i18n import I18nError, current_language, register, t
from survey_app.store import default_url
from survey_app.ui import SELECT_ALL, choose_placeholder, error_boundary, forget_download_soon, md_text, upload_help
from survey_app.uploads import UploadTooLargeError, read_upload

_RESTORE_CHECK = "_admin_restore_check"  # (upload file id, RestorePlan or the error) of the upload
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
        "password": {"zh": "初始密码", "en": "Initial password"},
        "create": {"zh": "创建用户", "en": "Create user"},
        "created": {"zh": "已创建用户 {name}。", "en": "User {name} created."},
        "edit_user": {"zh": "修改用户", "en": "Change a user"},
        "which_user": {"zh": "用户", "en": "User"},
        "active": {"zh": "启用", "en": "Enabled"},
        "new_password": {"zh": "新密码（不改则留空）", "en": "New password (leave empty to keep)"},
        "save": {"zh": "保存修改", "en": "Save changes"},
        "saved": {"zh": "已保存 {name} 的修改。", "en": "Changes to {name} saved."},
        "invalid": {"zh": "无法保存：{detail}", "en": "Not saved: {detail}"},
        # sign-in security and sessions
        "unlock": {"zh": "解除登录等待（密码输错过多时）", "en": "Clear the sign-in wait (after too many wrong passwords)"},
        "sessions": {"zh": "登录有效期", "en": "Sessions"},
        "sessions_help": {
            "zh": "平板刷新页面后仍保持登录，直到空闲超时或达到最长有效期；退出登录、停用账户或修改密码会立即结束登录。",
            "en": "Tablets stay signed in across reloads until the idle timeout or the lifetime ends; signing out, "
            "disabling the account or changing its password ends the session at once.",
        },
        "idle_minutes": {"zh": "空闲超时（分钟）", "en": "Idle timeout (minutes)"},
        "absolute_hours": {"zh": "最长有效期（小时）", "en": "Session lifetime (hours)"},
        "sessions_save": {"zh": "保存有效期", "en": "Save the session limits"},
        "sessions_saved": {"zh": "已保存：空闲 {idle} 分钟，最长 {hours} 小时。",
                           "en": "Saved: idle {idle} minutes, lifetime {hours} hours."},
        "backup_help": {
            "zh": "备份是数据库某一时刻的完整副本（含账户的密码散列），录入访问时也可以备份。点击下载时才生成，并记入审计日志。",
            "en": "A backup is a complete copy of the database at one moment (account password hashes included); "
            "it can be taken while interviews are being entered. It is made when you click Download, and the "
            "audit log records it.",
        },
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
        "restore_admins": {
            "zh": "恢复后能管理系统的管理员：{names}。请确认其中没有您不认识的账户。",
            "en": "Administrators after the restore: {names}. Check that you know every one of them.",
        },
        "restored": {
            "zh": "恢复完成。恢复前的安全备份：{path}。所有用户（包括您）都需要重新登录。",
            "en": "Restored. Safety backup of the previous state: {path}. Everyone, you included, signs in again.",
        },
        "backup_error": {"zh": "备份/恢复失败：{detail}", "en": "Backup/restore failed: {detail}"},
        # Backups that restore refuses (survey_app.backup.BackupRefusedError.problem).
        "refused_not_sqlite": {"zh": "该文件不是 SQLite 数据库，不是本系统的备份。",
                               "en": "The file is not a SQLite database, so it is not a backup of this app."},
        "refused_damaged": {"zh": "备份文件已损坏（完整性检查未通过）。",
                            "en": "The backup file is damaged (its integrity check failed)."},
        "refused_unreadable": {"zh": "无法读取备份文件。", "en": "The backup file cannot be read."},
        "refused_trigger": {
            "zh": "备份中含有触发器 {name}。本系统不创建触发器，说明文件在系统之外被改动过。",
            "en": "The backup holds the trigger {name}. This app creates none, so the file was changed outside the app.",
        },
        "refused_view": {
            "zh": "备份中含有视图 {name}。本系统不创建视图，说明文件在系统之外被改动过。",
            "en": "The backup holds the view {name}. This app creates none, so the file was changed outside the app.",
        },
        "refused_index": {"zh": "备份中含有本系统不创建的索引 {name}。",
                          "en": "The backup holds the index {name}, which this app does not create."},
        "refused_unknown_table": {"zh": "备份中含有本系统没有的表 {name}。",
                                  "en": "The backup holds the table {name}, which this app does not have."},
        "refused_missing_table": {"zh": "备份中缺少表 {name}，它不是本系统的备份。",
                                  "en": "The backup lacks the table {name}, so it is not a backup of this app."},
        "refused_unknown_column": {"zh": "备份中含有本系统没有的列 {name}。",
                                   "en": "The backup holds the column {name}, which this app does not write."},
        "refused_missing_column": {"zh": "备份中缺少列 {name}。", "en": "The backup lacks the column {name}."},
        "refused_bad_value": {"zh": "备份中 {name} 列有类型或格式不对的值。",
                              "en": "The backup has a value of the wrong type or form in the column {name}."},
        "refused_bad_rows": {
            "zh": "备份中表 {name} 的数据违反本系统的规则（如重复的用户名或无效的状态）。",
            "en": "The rows of the backup's table {name} break this app's rules (e.g. a repeated user name or an "
            "unknown status).",
        },
        "refused_no_setup": {
            "zh": "备份中没有首次启动记录：恢复后任何访问者都能创建第一个管理员。",
            "en": "The backup has no first-start record: after restoring it, any visitor could create the first "
            "administrator.",
        },
        "refused_no_administrator": {"zh": "备份中没有启用的管理员：恢复后无人能管理系统。",
                                     "en": "The backup has no enabled administrator: nobody could manage the app."},
        # Backups or restores that failed (survey_app.backup.BackupError.problem; issue 13: no English
        # sentence in the Chinese page).
        "failed_bad_url": {"zh": "数据库地址不是有效的 SQLAlchemy 地址。", "en": "The database URL is not a SQLAlchemy URL."},
        "failed_server_database": {"zh": "数据库是 {backend}，不是内置的 SQLite 文件",
                                   "en": "the database is {backend}, not the embedded SQLite file"},
        "failed_not_a_file": {"zh": "SQLite 数据库 {database} 不是文件，无法备份",
                              "en": "the SQLite database {database} is not a file and cannot be backed up"},
        "failed_no_database": {"zh": "{path} 处没有可备份的数据库文件。",
                               "en": "There is no database file at {path} to back up."},
        "failed_same_file": {"zh": "备份目标 {path} 就是数据库本身，请另选文件。",
                             "en": "The backup destination {path} is the database itself; choose another file."},
        "failed_backup_failed": {"zh": "备份 {path} 失败，没有写入任何文件。",
                                 "en": "The backup of {path} failed; nothing was written."},
        "failed_no_backup_file": {"zh": "{path} 处没有备份文件。", "en": "There is no backup file at {path}."},
        "failed_bad_backup_type": {"zh": "备份须为文件路径、字节或二进制文件，收到的是 {type}。",
                                   "en": "The backup must be a path, bytes or a binary file, got {type}."},
        "failed_unchecked_type": {"zh": "恢复无法检查本系统列 {column} 的类型，请联系开发人员。",
                                  "en": "The restore cannot check the type of the app's column {column}; "
                                  "tell the developers."},
        "failed_compare_failed": {"zh": "无法将备份与当前数据库比较（读取当前数据库失败），没有任何改动。",
                                  "en": "Comparing the backup with the database failed (the database could not be "
                                  "read); nothing was changed."},
        "failed_restore_failed": {"zh": "恢复失败，数据库没有改动；安全备份在 {path}。",
                                  "en": "The restore failed and the database was not changed; the safety backup is "
                                  "{path}."},
        "failed_copy_damaged": {"zh": "复制出的数据库已损坏（完整性检查未通过），请重试。",
                                "en": "The copied database is damaged (integrity check failed); try again."},
        "refused_note": {"zh": "已拒绝恢复此文件，当前数据没有任何改动；此次尝试已记入审计日志。",
                         "en": "The file was refused and the current data is unchanged; the attempt is in the audit log."},
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
            log = get_accounts().audit_log(user, limit=500)
            log["action"] = [audit_action(code, lang) for code in log["action"]]
            _table(log, lang)


def audit_action(code: str, lang: str) -> str:
    """An audit-log action in words; one without a text yet is named by its code."""
    try:
        return t(f"audit_actions.{code}", lang)
    except I18nError:
        return t("audit_actions.other", lang, code=code)


def _users(user: User, lang: str) -> None:
    accounts = get_accounts()
    # The table is drawn last into this place above the forms, so it shows what the forms'
    # actions of this very run did (a user just created is in it).
    table = st.empty()
    rule = password_rule(lang)

    st.subheader(t("admin.new_user", lang))
    with st.form("admin_new_user", clear_on_submit=True):
        username = st.text_input(t("admin.username", lang), key="admin_new_username")
        display_name = st.text_input(t("admin.display_name", lang), key="admin_new_display")
        roles = st.multiselect(
            t("admin.roles", lang), ROLES, default=["interviewer"],
            format_func=lambda role: role_names([role], lang), key="admin_new_roles",
            placeholder=choose_placeholder(lang, several=True), select_all=SELECT_ALL,
        )
        password = st.text_input(t("admin.password", lang), type="password", key="admin_new_password", help=rule)
        create = st.form_submit_button(t("admin.create", lang), type="primary")
    if create:
        try:
            created = accounts.create_user(user, username, password, roles, display_name=display_name)
        except InvalidAccountError as exc:
            st.error(t("admin.invalid", lang, detail=md_text(error_text(exc, lang))))
        else:
            st.success(t("admin.created", lang, name=md_text(created.username)))

    st.subheader(t("admin.edit_user", lang))
    names = [account.username for account in accounts.users(user)]
    name = st.selectbox(t("admin.which_user", lang), names, key="admin_edit_user",
                        placeholder=choose_placeholder(lang))
    if name is not None:
        _edit_user(accounts, user, name, lang, rule)
    _session_limits(accounts, user, lang)

    users = accounts.users_frame(user)
    users["roles"] = users["roles"].map(lambda roles: role_names(roles.split(","), lang))
    users["source"] = users["source"].map(lambda source: t(f"admin.source_{source}", lang))
    with table.container():
        _table(users, lang)


def _edit_user(accounts: Accounts, user: User, name: str, lang: str, rule: str) -> None:
    account = accounts.get_user(name)
    with st.form("admin_edit"):
        roles = st.multiselect(
            t("admin.roles", lang), ROLES, default=sorted(account.roles),
            format_func=lambda role: role_names([role], lang), key=f"admin_edit_roles_{name}",
            placeholder=choose_placeholder(lang, several=True), select_all=SELECT_ALL,
        )
        active = st.checkbox(t("admin.active", lang), value=account.active, key=f"admin_edit_active_{name}")
        new_password = ""
        if account.source == "password":
            new_password = st.text_input(
                t("admin.new_password", lang), type="password", key=f"admin_edit_password_{name}", help=rule
            )
        unlock = st.checkbox(t("admin.unlock", lang), key=f"admin_edit_unlock_{name}")
        save = st.form_submit_button(t("admin.save", lang))
    if save:
        try:
            if set(roles) != set(account.roles):
                accounts.set_roles(user, name, roles)
            if active != account.active:
                accounts.set_active(user, name, active)
            if new_password:
                accounts.reset_password(user, name, new_password)
            if unlock:
                accounts.unlock(user, name)
        except InvalidAccountError as exc:
            st.error(t("admin.invalid", lang, detail=md_text(error_text(exc, lang))))
        else:
            st.success(t("admin.saved", lang, name=name))


def _session_limits(accounts: Accounts, user: User, lang: str) -> None:
    st.subheader(t("admin.sessions", lang))
    st.caption(t("admin.sessions_help", lang))
    idle, absolute = accounts.session_limits()
    with st.form("admin_sessions"):
        idle_minutes = st.number_input(t("admin.idle_minutes", lang), min_value=1, max_value=100_000, step=5,
                                       value=int(idle.total_seconds() // 60), key="admin_idle_minutes")
        absolute_hours = st.number_input(t("admin.absolute_hours", lang), min_value=1, max_value=10_000, step=1,
                                         value=max(1, int(absolute.total_seconds() // 3600)),
                                         key="admin_absolute_hours")
        save = st.form_submit_button(t("admin.sessions_save", lang))
    if save:
        try:
            accounts.set_session_limits(user, idle_timeout=timedelta(minutes=int(idle_minutes)),
                                        absolute_timeout=timedelta(hours=int(absolute_hours)))
        except InvalidAccountError as exc:
            st.error(t("admin.invalid", lang, detail=md_text(error_text(exc, lang))))
        else:
            st.success(t("admin.sessions_saved", lang, idle=int(idle_minutes), hours=int(absolute_hours)))


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
        st.info(t("admin.not_sqlite", lang, detail=_failure_text(exc, lang)))
        return
    st.caption(t("admin.backup_help", lang))
    # Streamlit serves download files under /media/ URLs to anyone holding the link, signed in or
    # not, so a copy of the database must not wait there while the page is open: the file is made
    # only when clicked (deferred data; backup_bytes checks the user again and audits it).
    stamp = datetime.now(LOCAL_TIME).strftime("%Y%m%d-%H%M")
    st.download_button(
        t("admin.download", lang), lambda: _backup_download(user, url), file_name=f"survey-backup-{stamp}.db",
        mime="application/vnd.sqlite3", key="admin_download_backup", on_click="ignore",
    )

    st.subheader(t("admin.restore_title", lang))
    upload = st.file_uploader(t("admin.restore_file", lang), type=["db", "sqlite", "sqlite3"], key="admin_restore",
                              help=upload_help(lang))
    if upload is None:
        return
    # Checked once per uploaded file: a refusal is audited once, not at every later click.
    checked = st.session_state.get(_RESTORE_CHECK)
    if checked is None or checked[0] != upload.file_id:
        try:
            checked = (upload.file_id, plan_restore(read_upload(upload, what="backup"), actor=user, url=url,
                                                    label=upload.name))
        except (BackupError, UploadTooLargeError, PermissionDeniedError) as exc:
            checked = (upload.file_id, exc)
        st.session_state[_RESTORE_CHECK] = checked
    plan = checked[1]
    if isinstance(plan, Exception):
        _backup_failure(plan, lang)
        return
    st.write(t("admin.restore_plan", lang, backup=plan.backup_interviews, current=plan.current_interviews))
    st.info(t("admin.restore_admins", lang, names=md_text(", ".join(plan.administrators))))
    if plan.lost_interviews:
        st.warning(t("admin.restore_loss", lang, lost=plan.lost_interviews, submitted=plan.lost_submitted))
    confirmed = st.checkbox(t("admin.restore_confirm", lang), key="admin_restore_confirm")
    if st.button(t("admin.restore", lang), disabled=not confirmed, type="primary", key="admin_restore_button"):
        try:
            result = restore_database(read_upload(upload, what="backup"), actor=user,
                                      safety_directory=database.parent / "backups", url=url, label=upload.name)
        except (BackupError, UploadTooLargeError, PermissionDeniedError) as exc:
            _backup_failure(exc, lang)
            return
        st.success(t("admin.restored", lang, path=md_text(result.safety_backup.path)))


def _backup_download(user: User, url: str) -> bytes:
    """The backup file for the download button, forgotten by Streamlit soon after the click."""
    data, _ = backup_bytes(user, url=url)
    forget_download_soon()
    return data


def _backup_failure(error: Exception, lang: str) -> None:
    """Explain a refused or failed backup or restore in the interface language."""
    if isinstance(error, BackupRefusedError):
        # names of tables, columns or triggers read from the uploaded file: literal text
        st.error(t(f"admin.refused_{error.problem}", lang, name=md_text(error.name)))
        st.caption(t("admin.refused_note", lang))
    elif isinstance(error, PermissionDeniedError):
        st.error(error_text(error, lang))
    elif isinstance(error, BackupError):
        st.error(t("admin.backup_error", lang, detail=_failure_text(error, lang)))
    else:
        st.error(t("admin.backup_error", lang, detail=md_text(error)))


def _failure_text(error: BackupError, lang: str) -> str:
    """A failed backup or restore in the interface language; paths and names as literal text."""
    return t(f"admin.failed_{error.problem}", lang, **{name: md_text(value) for name, value in error.params.items()})


if __name__ == "__main__":
    render()
