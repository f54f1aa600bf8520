"""Where images and signatures come from: the cluster's image API or a catalog folder."""
