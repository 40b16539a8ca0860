"""Structure-aware components for sc-toolkit."""
