"""Partner onboarding by template (``interchange partners onboard``): the templates that ship
with the project (``templates/*.yaml``), validated with pydantic, and YAML read with its line
numbers so a bad template or mapping is refused with the line and field at fault."""
