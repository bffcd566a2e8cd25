set encoding utf8
set datafile missing '?'
set terminal svg size 720,540 dynamic enhanced font 'Helvetica,13' background '#ffffff'
set output 'loss_fit_lorenz63_trk4.svg.tmp'
set title "Training loss of the trk4 schemes, fit lorenz63" noenhanced
set xlabel 'iteration (kept candidate)'
set ylabel 'loss'
set logscale y
set format y '10^{%L}'
set grid lc rgb '#dddddd'
set key below noenhanced
plot 'loss_fit_lorenz63_trk4.dat' index 0 with lines lw 2 title 'trk4 h=0.1', \
     'loss_fit_lorenz63_trk4.dat' index 1 with lines lw 2 title 'trk4 h=0.15', \
     'loss_fit_lorenz63_trk4.dat' index 2 with lines lw 2 title 'trk4 h=0.16', \
     'loss_fit_lorenz63_trk4.dat' index 3 with lines lw 2 title 'trk4 h=0.17', \
     'loss_fit_lorenz63_trk4.dat' index 4 with lines lw 2 title 'trk4 h=0.18', \
     'loss_fit_lorenz63_trk4.dat' index 5 with lines lw 2 title 'trk4 h=0.19'
