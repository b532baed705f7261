"""Fupin (扶贫): targeted poverty alleviation on a city → town → village → grid network."""
