"""One settings object for the whole platform.

Read from the environment (prefix ``ONESOURCE_``) each time :func:`get_settings`
is called, never at import, so tests and side-by-side platforms can point
``ONESOURCE_HOME`` elsewhere without reloading modules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, PrivateAttr, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class LakeSettings(BaseSettings):
    """The lake: its home, catalog, files and engine."""

    home: Path = Field(default=REPO_ROOT / "data", description="Folder for the lake, stores and keys.")
    catalog: Literal["postgres", "sqlite"] = Field(
        default="postgres", description="The platform's own catalog when ONESOURCE_CATALOG_DSN is unset: postgres (a PostgreSQL "
        "server of its own under home/lake, started on demand: roles, encrypted files and the audit of reads on one "
        "machine) or sqlite (home/lake/catalog.sqlite: one operator, no roles).")
    catalog_dsn: SecretStr | None = Field(
        default=None,
        description="postgresql:// URL (or libpq key=value string) of an external DuckLake catalog; unset means the "
        "platform's own catalog (see ONESOURCE_CATALOG). With the embedded server it holds that server's socket DSN.",
    )
    catalog_listen: str | None = Field(
        default=None, description="host:port on which the embedded catalog server also listens over TCP (password "
        "authentication); unset: its Unix socket in home/lake/run only.")
    catalog_schema: str = Field(default="ducklake", description="PostgreSQL schema holding the DuckLake metadata.")
    data_path: str | None = Field(
        default=None, description="Where the lake's Parquet files live: a folder, or an object-store URL "
        "(s3://bucket/prefix/) for a larger deployment; unset means home/lake/data.")
    encrypt_data: bool | None = Field(
        default=None, description="Encrypt the lake's data files, each with its own key kept in the catalog "
        "(DuckLake's encrypted mode); unset means on with a PostgreSQL catalog (embedded or external), off with "
        "the SQLite one (whose keys would sit beside the files).")
    duckdb_extension_dir: Path = Field(
        default=REPO_ROOT / ".duckdb" / "extensions",
        description="Project-local DuckDB extension directory, filled offline from the extension wheels.",
    )
    duckdb_memory_limit: str = Field(default="6GB", description="DuckDB memory of a lake session (the platform's "
                                     "and dbt's); beyond it DuckDB spills to disk.")
    duckdb_threads: int = Field(default=2, description="Threads of a lake session (the platform's, dbt's, the linkage's).")
    link_memory_limit: str = Field(default="8GB", description="DuckDB memory of the linkage's working database "
                                   "(Splink spills to a temporary folder beyond it, slowing the linkage and every "
                                   "fsync on the same disk). A full relink at 500,000 residents peaks at about 5 GB "
                                   "(EM on sampled pairs, each session's pairs dropped when it ends).")
    lake_lock_wait_seconds: float = Field(
        default=1800.0, description="How long a run that writes waits for another run holding the lake (then it "
        "stops with a message, having written nothing).")
    snapshot_keep_days: float = Field(default=7.0, description="How long `onesource maintain` keeps the lake "
                                      "snapshots between releases (every release is kept).")


class StorageSettings(BaseSettings):
    """Object storage, for an s3:// data path."""

    s3_endpoint: str | None = Field(default=None, description="host:port of an S3-compatible object store for an "
                                    "s3:// data path (unset: AWS's own endpoint).")
    s3_key_id: SecretStr | None = Field(default=None, description="Access key id for an s3:// data path.")
    s3_key: SecretStr | None = Field(default=None, description="Secret access key for an s3:// data path.")
    s3_region: str = Field(default="ap-northeast-1", description="Region of the object store.")
    s3_use_ssl: bool = Field(default=True, description="HTTPS to the object store (off only for a local test server).")
    s3_url_style: str = Field(default="vhost", description="vhost or path (path for most S3-compatible servers).")


class SourcesSettings(BaseSettings):
    """Sources and keys: the landing zone, the contract database, the keys the platform makes."""

    landing: Path | None = Field(default=None, description="Landing zone the Dagster sensors and assets read "
                                 "(unset: home/landing).")
    keiyaku_dsn: SecretStr | None = Field(
        default=None, description="postgresql:// URL of the 入札・契約管理システム database."
    )
    ingest_max_future_days: int = Field(
        default=1, description="A delivery dated more than this many days after today (Asia/Tokyo) is refused.")
    truth_dir_override: Path | None = Field(default=None, alias="ONESOURCE_TRUTH_DIR", description="Truth files "
                                            "for the linkage-quality asset check (simulated cities only).")
    my_number_key: SecretStr | None = Field(
        default=None,
        description="HMAC key for 個人番号 tokens (32+ bytes); unset means a key generated in the keys folder on first use.",
    )
    analysis_key: SecretStr | None = Field(
        default=None, description="HMAC key of the analysis zone's pseudonyms (32+ bytes); unset means a key "
        "generated in the keys folder on first use. Never given to analysts.")
    keys_dir_override: Path | None = Field(default=None, alias="ONESOURCE_KEYS_DIR",
                                           description="Folder of the keys the platform generates: never in the "
                                           "repository (default: home/keys, or ~/.config/onesource/keys while home is "
                                           "inside the repository).")


class ApiSettings(BaseSettings):
    """The consented-data API, the open data it serves, and the web layer it shares with the workbench."""

    api_store_dsn: SecretStr | None = Field(
        default=None,
        description="postgresql:// URL of the API's store (clients, consents, access log); unset means SQLite "
        "under home.")
    api_catalog_dsn: SecretStr | None = Field(
        default=None, description="The API's own login to the PostgreSQL catalog (the policy's api_service role, "
        "which reads only the marts it serves); unset means the catalog's owner DSN, which the API warns about.")
    api_store_file: Path | None = Field(default=None, description="SQLite file of the API's store (default "
                                        "home/api/api.sqlite); ignored when ONESOURCE_API_STORE_DSN is set.")
    api_log_key: SecretStr | None = Field(
        default=None, description="HMAC key of the access-log chain (32+ bytes); unset means a key generated in "
        "the keys folder on first use.")
    api_base_url: str = Field(default="https://api.city.ichikawa.example",
                              description="Public base URL of the API (consent receipts, open-data links).")
    api_release_poll_seconds: float = Field(default=1.0, description="How often the API looks for a new release.")
    api_rate_per_second: float = Field(default=50.0, description="Default request rate a client may sustain.")
    api_rate_burst: int = Field(default=100, description="Default burst a client may use above its rate.")
    api_anonymous_rate_per_second: float = Field(default=20.0,
                                                 description="Rate of unauthenticated requests per address.")
    api_address_rate_per_second: float = Field(
        default=200.0, description="Requests per second one address may send to the API or the workbench, counted "
        "before any authentication (burst: twice that).")
    api_auth_failure_rate_per_second: float = Field(
        default=1.0, description="Failed authentications per second one address may make (burst 20); past it, its "
        "requests with credentials are refused before they are checked.")
    api_trusted_proxies: str | None = Field(
        default=None, description="Comma-separated addresses of reverse proxies whose X-Forwarded-For is believed, by the "
        "API and the workbench; unset: the socket's peer is the client's address.")
    api_max_body_bytes: int = Field(default=65536, description="Largest request body the API or the workbench "
                                    "reads (413 above).")
    api_max_header_bytes: int = Field(default=16384, description="Largest request line and headers, API and "
                                      "workbench (431 above).")
    api_max_json_depth: int = Field(default=32, description="Deepest nesting of a JSON body (422 above).")
    web_max_header_count: int = Field(default=100, description="Most request headers the API or the workbench "
                                      "accepts (431 above).")
    web_max_url_bytes: int = Field(default=8192, description="Longest path and query the API or the workbench "
                                   "accepts (414 above).")
    web_header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest time a client of the API or the workbench may take to send a "
        "request's line and headers, from its first byte (or from the connection's opening); then the connection "
        "is closed (408 when part of a request came).")
    web_body_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Longest time a client may take to send a request's declared body once its "
        "headers are in; then 408 and the connection is closed.")
    api_resident_credential_max_hours: float = Field(
        default=24.0, description="Longest lifetime of a resident credential.")
    opendata_area_codes_file: Path | None = Field(
        default=None, description="The city's official 町丁目 codes for the open data (CSV with columns 地域名 and "
        "地域コード); unset: codes derived from the town list (publish/opendata.py, area_code).")
    opendata_base_url: str = Field(
        default="http://127.0.0.1:8000", description="Where the public reaches the API's open data, as the DCAT "
        "catalog publishes it: download URLs are <this>/v1/opendata/files/<name> (default: `onesource serve`).")


class WorkbenchSettings(BaseSettings):
    """The reviewer's workbench."""

    workbench_host: str = Field(default="127.0.0.1", description="Address the reviewer's workbench listens on "
                                "(it always asks for an operator's sign-in).")
    workbench_port: int = Field(default=8765, description="Port of the reviewer's workbench.")
    workbench_secure_cookie: bool = Field(
        default=False, description="Mark the workbench's session cookie Secure (set it where the workbench is "
        "served over HTTPS, behind the city's reverse proxy).")


class OrchestrationSettings(BaseSettings):
    """Orchestration: Dagster's instance and the frameworks' paths."""

    dagster_dsn: SecretStr | None = Field(
        default=None, description="postgresql:// URL for Dagster's instance storage; unset means SQLite under home.")
    framework_path: Literal["fast", "public"] = Field(
        default="fast", description="fast: the frameworks' internals the platform was measured faster with, each "
        "checked against the pinned versions (dbt's parsed manifest kept for the refresh's builds, "
        "core/dbt_internals.py; Dagster's event log without a connection and an fsync per event, dbt in the run's "
        "process, the build's run created as the UI's own, dagster_project/internals.py). public: the frameworks' "
        "public API only (a fresh dbt parse per invocation, Dagster's own storage, dagster-dbt's "
        "DbtCliResource(...).cli(...).stream(), execute_in_process): slower, for telling whether a new release "
        "of dbt or Dagster broke an internal.")


class Settings(LakeSettings, StorageSettings, SourcesSettings, ApiSettings, WorkbenchSettings,
               OrchestrationSettings):
    """Everything the platform writes lives under ``home``. The sections are the classes above; each field is read
    from ``ONESOURCE_<FIELD>`` (or its alias)."""

    # an empty variable counts as unset (ONESOURCE_CATALOG_DSN= means the embedded catalog, not an empty DSN)
    model_config = SettingsConfigDict(env_prefix="ONESOURCE_", extra="ignore", populate_by_name=True,
                                      env_ignore_empty=True)

    _embedded: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _embedded_catalog(self) -> Settings:
        """With no catalog_dsn and the postgres catalog, the DSN is the embedded server's (its socket under home;
        the superuser's password in the keys folder's passfile): every module that reads the catalog through
        catalog_dsn then reads the embedded server. Nothing is started here (see core.lake)."""
        if self.catalog_dsn is None and self.catalog == "postgres":
            from core.catalog_server import conninfo

            self.catalog_dsn = SecretStr(conninfo(self.lake_dir, self.catalog_passfile, self.catalog_listen))
            self._embedded = True
        return self

    @property
    def catalog_embedded(self) -> bool:
        """The catalog is the platform's own PostgreSQL server under home (the default)."""
        return self._embedded

    @property
    def catalog_is_sqlite(self) -> bool:
        return self.catalog_dsn is None

    @property
    def catalog_passfile(self) -> Path:
        """libpq passfile of the embedded server's superuser (the data team), beside the other generated keys."""
        return self.keys_dir / "catalog.pgpass"

    @property
    def encrypted(self) -> bool:
        return self.encrypt_data if self.encrypt_data is not None else self.catalog_dsn is not None

    def as_api_reader(self) -> Settings:
        """These settings with the lake read as the API's own role (``api_catalog_dsn``) where one is set."""
        if self.catalog_dsn is None or self.api_catalog_dsn is None:
            return self
        return self.model_copy(update={"catalog_dsn": self.api_catalog_dsn})

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def lake_data_path(self) -> Path:
        return self.lake_dir / "data"

    @property
    def data_path_url(self) -> str:
        """The DATA_PATH given to DuckLake (always ending in /)."""
        path = self.data_path or str(self.lake_data_path)
        return path if path.endswith("/") else path + "/"

    @property
    def data_path_is_local(self) -> bool:
        return "://" not in self.data_path_url

    def ensure_data_path(self) -> None:
        if self.data_path_is_local:
            Path(self.data_path_url).mkdir(parents=True, exist_ok=True)

    @property
    def catalog_path(self) -> Path:
        return self.lake_dir / "catalog.sqlite"

    @property
    def keys_dir(self) -> Path:
        """Generated keys live outside the repository: under home, unless home is the in-repo default."""
        if self.keys_dir_override is not None:
            return self.keys_dir_override
        home = self.home.resolve()
        if home == REPO_ROOT or REPO_ROOT in home.parents:
            return Path.home() / ".config" / "onesource" / "keys"
        return self.home / "keys"

    @property
    def api_store_path(self) -> Path:
        return self.api_store_file or self.home / "api" / "api.sqlite"

    @property
    def landing_dir(self) -> Path:
        return self.landing or self.home / "landing"

    @property
    def truth_dir(self) -> Path:
        """Where the demo writes the simulated city's truth files, and where the linkage-quality check
        looks for them."""
        return self.truth_dir_override or self.home / "truth"


def get_settings() -> Settings:
    """Read the settings now (environment and defaults)."""
    return Settings()


def mask_dsn(dsn: str) -> str:
    """A DSN fit for logs and error messages: the password replaced by ***."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
