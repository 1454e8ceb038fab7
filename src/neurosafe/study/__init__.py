"""Studies: configs that chain the paths and write a report."""
