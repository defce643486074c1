"""Public-opinion monitoring (网络舆情监控). Filled in by the opinion-monitoring issue."""
