"""The sandbox company pulled night by night without Airflow (frictionflow.company_world), under the names
the tests use: for the tests that need real deliveries in a warehouse of their own (the quirks, identity
resolution, erasure, friction accuracy)."""

from __future__ import annotations

from frictionflow.company_world import CompanyWorld as PipelineWorld
from frictionflow.company_world import company_world as pipeline_world
from frictionflow.company_world import night_interval, pull_night

__all__ = ["PipelineWorld", "night_interval", "pipeline_world", "pull_night"]
