"""The product catalogue: names per language, categories and prices of a program's SKUs.

The catalogue describes products; it is not a gate. Purchases name any SKU, in the catalogue
or not. Rules and rewards may name catalogue SKUs and categories, and ``patron program
validate --db`` warns about those the catalogue does not know.
"""
