"""Projects: a folder of chapters and story notes, its side panel and its open session."""
