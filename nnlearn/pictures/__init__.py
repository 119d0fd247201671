"""What a person looks at: learning curves, the inside of the network, the HTML report."""
