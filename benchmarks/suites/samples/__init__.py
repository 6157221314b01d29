"""The built-in bench goals (autocoder bench samples): one folder per goal, goal.toml +
acceptance tests."""
