"""Crystal structures for candidate compositions: structure generators and relaxers for sc-toolkit."""
