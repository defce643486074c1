"""Statistics and monitoring (统计监测) and the composite index (综合指数)."""
