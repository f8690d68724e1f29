"""The Polysync Azure OpenAI Functions app: all logic lives in this package.

`function_app.py` only adapts triggers to the use-cases here (see `shared.web`).
"""
