"""Medicines knowledge: the product dictionary (dm+d, RxNorm), name parsing, identification."""
