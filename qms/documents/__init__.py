"""Document control: register, drafts, review and approval, release, history and redline."""
