"""The summarizer: per question, a digest of the evidence found since the last one."""
