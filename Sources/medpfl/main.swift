print("medpfl")
