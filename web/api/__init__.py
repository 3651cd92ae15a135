"""The HTTP API (`/api/v1`) and the service's health endpoints."""
