"""What a drawing shows, as plain data (no graphviz): ``build.py`` makes a Scene of boxes and
arrows from a graph or its backward walk, ``clusters.py`` places Values in the modules of a
model, ``text.py`` writes the numbers."""

from .build import LEGEND, Arrow, Box, Scene, backward_scene, forward_scene
from .clusters import Cluster, ModuleMap

__all__ = [
    "LEGEND",
    "Arrow",
    "Box",
    "Cluster",
    "ModuleMap",
    "Scene",
    "backward_scene",
    "forward_scene",
]
