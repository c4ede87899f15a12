"""SGD Lab's NumPy core: the two-layer network of *Deep Learning from Scratch* §4.5 and its training loop.

Pure NumPy: nothing here imports Streamlit, Plotly or anything of the user interface.
"""
