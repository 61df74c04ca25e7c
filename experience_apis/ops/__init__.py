"""The operations console: a web page (and a small API) for the people who run the suite."""
