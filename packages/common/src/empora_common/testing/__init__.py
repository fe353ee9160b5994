"""Test helpers: real infrastructure, a migrated database per session, real HTTP servers."""
