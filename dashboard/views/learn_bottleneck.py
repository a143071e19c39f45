"""Learn: the bottleneck of an autoencoder, on the bundled MNIST digits."""

from __future__ import annotations

import streamlit as st

from dashboard import learn_charts, learn_services

st.title("The bottleneck")
st.markdown(
    "An autoencoder squeezes each image through a narrow layer of **z** numbers and "
    "must rebuild it from them alone. It can only keep what it has seen often; the "
    "rest is lost. That loss is the anomaly score: a row the network cannot rebuild is "
    "unlike the rows it learned from. Below, the 784-256-z network with a sigmoid "
    "output is trained for a few seconds on the 1,030 bundled MNIST test images (980 "
    "zeros and 50 other digits)."
)

latent_dim = st.select_slider(
    "Latent size z",
    options=learn_services.LATENT_SIZES,
    value=8,
    key="learn_bottleneck_z",
    help="Numbers the image must pass through. Each size is trained once and cached.",
)
view = learn_services.bottleneck_view(latent_dim)

st.metric(
    "Mean squared error per image",
    f"{view['mean_error']:.2f}",
    help="Sum over the 784 pixels (each in [0, 1]) of the squared error, averaged "
    "over the images.",
)
st.subheader("Originals (top) and reconstructions (bottom)")
st.image(
    view["examples"],
    clamp=True,
    width="stretch",
    caption="The first image of each digit in the sample.",
)
st.subheader("The eight worst reconstructions")
st.image(
    view["worst"],
    clamp=True,
    width="stretch",
    caption="Digits: " + ", ".join(str(d) for d in view["worst_table"]["digit"]),
)

left, right = st.columns(2)
with left:
    st.altair_chart(
        learn_charts.error_by_digit(view["by_digit"], latent_dim), width="stretch"
    )
with right:
    st.altair_chart(
        learn_charts.error_vs_latent(learn_services.bottleneck_curve(), latent_dim),
        width="stretch",
    )

st.markdown(
    "**What this shows.** A wider bottleneck keeps more detail, so the error falls as "
    "z grows: quickly at first, and past about 16 the extra numbers buy little in this "
    "short training. At every size the rare digits come back worst: the network spent "
    "its capacity on the zeros it saw 980 times. That is why an autoencoder trained on "
    "mostly normal rows flags the unusual ones. Too wide a bottleneck would let it "
    "copy anything, unusual rows included, and the score would lose its meaning; the "
    "Autoencoder detector therefore keeps z well below the number of features."
)
st.markdown(
    "**The linear limit.** Eckart and Young (1936) proved that among all ways to "
    "rebuild data through z numbers with linear maps, projecting onto the top z "
    "principal components (PCA) leaves the least squared error. The dark line is that "
    "limit. The autoencoder is not linear, so it may beat it, most visibly at small z; "
    "with more numbers and this little training it does not always. The next lesson "
    "shows the linear case: an autoencoder without activations lands exactly on PCA."
)
st.page_link(
    "views/data.py",
    label="Load your own data, then run the Autoencoder on it",
    icon="📄",
)
st.page_link(
    "views/compare.py",
    label="Compare the Autoencoder with the other detectors",
    icon="📊",
)
