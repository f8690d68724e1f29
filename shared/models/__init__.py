"""The app's pydantic models: what Polysync sends (`requests`), what Azure answers (`azure`),
what the app answers (`answers`). The registry entity lives in `shared.registry.entity`."""
