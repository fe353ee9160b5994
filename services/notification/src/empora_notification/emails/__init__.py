"""Emails: templates, rendering, MIME building and the SMTP transport."""
