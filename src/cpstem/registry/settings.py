"""Django settings of the registry, driven by environment variables (see :mod:`.config`)."""

from __future__ import annotations

import os
from datetime import timedelta

import dj_database_url

from cpstem.registry import config

DATA_DIR = config.data_dir()
SECRET_KEY = config.secret_key(DATA_DIR)
DEBUG = config.flag("CPSTEM_DEBUG")
HTTPS = config.flag("CPSTEM_HTTPS")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("CPSTEM_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CPSTEM_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "axes",
    # ninja's own templates and static files: the API docs (Swagger UI) served from here, not
    # from a CDN
    "ninja",
    "cpstem.registry.apps.RegistryConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cpstem.registry.http_policy.SecurityHeaders",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "cpstem.registry.http_policy.RequestErrors",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "cpstem.registry.middleware.PasswordChangeRequired",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cpstem.registry.urls"
WSGI_APPLICATION = "cpstem.registry.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "cpstem.registry.access.role_context",
                "cpstem.registry.demo_banner.demo_context",
            ],
        },
    },
]

if url := os.environ.get("CPSTEM_DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "registry.sqlite3"),
            # WAL journal and a busy timeout are set per connection in apps.py.
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
            "CONN_MAX_AGE": 600,  # one connection per server thread, not one per request
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes): lock a username+address after 5 failures for 15 minutes.
# A site policy: CPSTEM_LOGIN_FAILURES / CPSTEM_LOGIN_COOLOFF_MINUTES change it.
AXES_FAILURE_LIMIT = int(os.environ.get("CPSTEM_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("CPSTEM_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "registry:patients"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("CPSTEM_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = str(DATA_DIR / "static")
(DATA_DIR / "static").mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SILENCED_SYSTEM_CHECKS = (
    ["security.W004", "security.W008", "security.W012", "security.W016"] if not HTTPS else []
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}

# E-mail (work-list reminders, `cpstem remind`): an SMTP server given by the environment.
# CPSTEM_SMTP_HOST (none: no e-mail), CPSTEM_SMTP_PORT (default 587 with CPSTEM_SMTP_TLS=1,
# 465 with CPSTEM_SMTP_SSL=1, else 25), CPSTEM_SMTP_USER, CPSTEM_SMTP_PASSWORD, CPSTEM_SMTP_TLS
# (STARTTLS), CPSTEM_SMTP_SSL (implicit TLS), CPSTEM_MAIL_FROM (the sender), CPSTEM_BASE_URL
# (the registry's address, for links in messages).
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("CPSTEM_SMTP_HOST", "")
EMAIL_USE_TLS = config.flag("CPSTEM_SMTP_TLS")
EMAIL_USE_SSL = config.flag("CPSTEM_SMTP_SSL")
EMAIL_PORT = int(
    os.environ.get("CPSTEM_SMTP_PORT") or (587 if EMAIL_USE_TLS else 465 if EMAIL_USE_SSL else 25)
)
EMAIL_HOST_USER = os.environ.get("CPSTEM_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("CPSTEM_SMTP_PASSWORD", "")
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = SERVER_EMAIL = os.environ.get(
    "CPSTEM_MAIL_FROM", "cpstem registry <cpstem@localhost>"
)
CPSTEM_BASE_URL = os.environ.get("CPSTEM_BASE_URL", "")
# A refused form (expired or missing CSRF token) gets a page in the registry's layout.
CSRF_FAILURE_VIEW = "cpstem.registry.views.errors.csrf_failure"

CPSTEM = {
    "CURVE_SET": os.environ.get("CPSTEM_CURVE_SET", "rosenbaum2002"),
    "GMFM66_ITEM_MAP": os.environ.get("CPSTEM_GMFM66_ITEM_MAP") or None,
    "SCHEDULE": os.environ.get("CPSTEM_SCHEDULE") or None,
}
