"""The scout: crawls sources for new papers, by firehose category and by question."""
