from ._monitor import ConvergenceMonitor as ConvergenceMonitor
from .anderson import Anderson as Anderson, anderson_weights as anderson_weights
from .picard import Picard as Picard
