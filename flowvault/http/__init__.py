"""One HTTP client for every remote system: base URL, timeout, retries that honour Retry-After, errors."""
