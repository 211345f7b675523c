"""What a person looks at: sample grids, traversal strips, curves and the HTML report."""
