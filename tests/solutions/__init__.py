"""Solutions written independently of the reference ones (solutions/), to prove that the graders accept every
correct configuration and not only the reference's."""
