"""Train on My Writing: the dialog, the training process it runs, and the progress panel."""
