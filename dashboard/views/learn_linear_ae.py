"""Learn: a linear autoencoder trained by gradient descent converges to PCA."""

from __future__ import annotations

import streamlit as st

from dashboard import learn_charts, learn_services

st.title("A linear autoencoder is PCA")
st.markdown(
    "**The result.** Eckart and Young (1936) showed that the best approximation of a "
    "matrix by one of rank k, in squared error, keeps its top k singular directions: "
    "for centred data, the top k principal components. An autoencoder with one linear "
    "encoder and one linear decoder and a code of k numbers can only produce rank-k "
    "reconstructions, so its best possible loss is PCA's, reached only on PCA's "
    "subspace. Gradient descent gets there because this loss has no bad local minima "
    "(Baldi and Hornik 1989). The decoder's columns need not be orthogonal or ordered "
    "like principal components; the subspace they span is the same."
)

left, middle, right, far = st.columns(4)
ratio = left.slider(
    "Elongation of the cloud",
    1.2,
    5.0,
    3.0,
    0.1,
    key="learn_linear_ratio",
    help="Spread along the long axis over spread along the short one. "
    "Near 1 the direction is ill-defined and training slows down.",
)
steps = middle.slider(
    "Gradient-descent steps", 0, 400, 150, 10, key="learn_linear_steps"
)
lr = right.select_slider(
    "Step size (times 1 / largest variance)",
    [0.02, 0.05, 0.1, 0.5],
    value=0.1,
    key="learn_linear_lr",
)
seed = far.number_input("Seed (cloud and start)", 0, 99, 0, key="learn_linear_seed")

lesson = learn_services.linear_ae(ratio, steps, lr, int(seed))

a, b, c = st.columns(3)
a.metric(
    "Final principal angle (degrees)",
    f"{lesson['angle']:.3f}",
    help="Angle between the decoder's column and the first principal direction.",
)
b.metric("Final loss", f"{lesson['loss']:.5f}")
c.metric(
    "PCA optimum (Eckart-Young)",
    f"{lesson['optimum']:.5f}",
    help="Mean squared distance of the points to the principal line: the smallest "
    "loss any rank-1 linear autoencoder can reach.",
)

st.altair_chart(
    learn_charts.cloud_with_directions(lesson["cloud"], lesson["directions"]),
    width="stretch",
)
left, right = st.columns(2)
with left:
    st.altair_chart(learn_charts.angle_trace(lesson["trace"]), width="stretch")
with right:
    st.altair_chart(
        learn_charts.loss_trace(lesson["trace"], lesson["optimum"]), width="stretch"
    )

st.markdown(
    "**Why it matters for anomaly detection.** The PCA detector scores a row by its "
    "squared distance to the principal subspace, which is exactly this linear "
    "autoencoder's reconstruction error. The Autoencoder detector adds non-linear "
    "layers so it can follow curved structure that a flat subspace misses."
)
st.page_link(
    "views/data.py",
    label="Load your own data, then run PCA and the Autoencoder",
    icon="📄",
)
st.page_link(
    "views/compare.py", label="Compare PCA with the other detectors", icon="📊"
)
