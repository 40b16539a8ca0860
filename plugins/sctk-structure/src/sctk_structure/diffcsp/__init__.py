"""``diffcsp``: crystal structure prediction by joint equivariant diffusion (DiffCSP), with Tc steering
(DiffCSP-SC). The component is :class:`sctk_structure.diffcsp.model.DiffCSP`; torch is imported by
the submodules only, never by importing this package."""
