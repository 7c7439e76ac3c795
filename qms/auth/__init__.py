"""Users, departments, roles, login and API tokens."""
