"""Public-opinion monitoring (网络舆情监控): crawl, analyse, search and signal.

A feature (``sentiment.feature``): sources and rules in ``config/opinions.toml``, crawling
in :mod:`sentiment.crawl`, jieba analysis and sentiment in :mod:`sentiment.analysis` and
:mod:`sentiment.model`, search behind the port in :mod:`sentiment.search`.
"""
