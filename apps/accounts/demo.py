"""The demo accounts' password, shared by every command that makes demo users (``create_demo_users``,
``create_demo_cases``, ``create_demo_funding``) and by the browser journeys that sign in as them."""

DEMO_PASSWORD = "demo-password-2026"  # printed to the console on purpose: demo accounts only
