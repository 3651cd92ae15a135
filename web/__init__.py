"""The web entry ("Én indgang"): the HTTP API for case systems and officers, and (later) the
company's page, booking, guidance and the worklist. A door on the same seam as the CLI
(`case_api`, `access`): it translates HTTP, it holds no rule of its own."""
