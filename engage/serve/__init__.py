"""`engage serve`: the scoring service over HTTP (FastAPI on uvicorn, or the same app on Ray Serve replicas).

Modules: settings ([serve] in engage.toml), keys (API keys, hashed, in the label database), engine (the one adapter
to the scoring engine, the loaded model and hot reload), batching (dynamic batching of concurrent requests), history
(hands scored messages to the scoring history off the request path), limits (rate limit, problem details), app (the
FastAPI application factory), ray_app (the Ray Serve deployment of the same app).

Only this package imports FastAPI and Ray Serve (the engine never does).
"""
