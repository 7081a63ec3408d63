"""The linkage (名寄せ) between the staging stage and the marts."""
