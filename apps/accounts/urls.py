from django.contrib.auth import views as auth_views
from django.urls import path

from apps.accounts import oidc, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.logout_view, name="logout"),
    # Team administration is apps.teams (its pages sit under /accounts/ too)
    # Password reset by email (Django's views; the pages say the same whether or not the address has an account)
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.jinja"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.jinja"),
        name="password_reset_complete",
    ),
    # Optional single sign-on (OpenID Connect): 404 unless configured
    path("sso/start/", oidc.Start.as_view(), name="sso_start"),
    path("sso/callback/", oidc.Callback.as_view(), name="sso_callback"),
]
