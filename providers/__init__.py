"""Built-in model profiles (one TOML file each). Installed as `autocoder.profiles`."""
