"""The node image: one Debian rootfs, built from recipe.toml and cached by its hash."""
