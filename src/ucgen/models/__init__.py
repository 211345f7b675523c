"""Networks: stage-1 generator / encoder / discriminator, the HM-UNet, the RDM MLP."""
